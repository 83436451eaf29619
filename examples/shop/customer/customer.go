// Package customer is part of memcheck's example module.
package customer

import "time"

// Address is held by pointer from Customer.
type Address struct {
	Street string
	City   string
	Zip    [5]byte
}

// Customer holds a pointer chain: Customer -> *Address.
type Customer struct {
	ID      int64
	Name    string
	Address *Address
	Since   time.Time
}
