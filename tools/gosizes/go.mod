module memcheck/tools/gosizes

go 1.19
