// Population levels: how many values of each struct the code suggests, with file:line evidence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles } from "../src/analysis/index.ts";
import { hazardCollector } from "../src/hazards.ts";
import type { Population } from "../src/analysis/model.ts";

const MOD = { path: "go.mod", text: "module example.com/shop\n\ngo 1.21\n" };

const SHOP = `package shop

import (
	"net/http"
	"sync"

	"example.com/shop/model"
)

type Order struct {
	ID   int64
	Line Line
}

type Line struct{ SKU string }

type Item struct{ n int }

type Queued struct{ n int }

type Tick struct{ n int }

type Buf struct{ b []byte }

type ServerConfig struct{ Addr string }

type Global struct{ b int }

type Lonely struct{ a int }

type Shard struct{ n int }

type Shards struct {
	all  []*Shard
	byID map[int]*Shard
	ch   chan *Shard
}

var g Global

var pool = sync.Pool{New: func() any { return &Buf{} }}

var q chan Queued

func handle(w http.ResponseWriter, r *http.Request) {
	o := &Order{}
	_ = o
	_ = &model.Row{}
	_ = Lonely{}
}

func batch(a []Item) map[string]Item {
	var out []*Item
	_ = out
	_ = make([]Item, 0, len(a))
	return nil
}

func main() {
	cfgs := []ServerConfig{{}, {}}
	c := &ServerConfig{}
	_, _ = c, cfgs
	var x []ServerConfig
	_ = x
	for i := 0; i < 3; i++ {
		t := new(Tick)
		_ = t
	}
}
`;

const MODEL = `package model

type Row struct{ n int }
`;

async function levels(rules = true): Promise<Record<string, Population>> {
  const a = await analyzeFiles(
    [MOD, { path: "shop.go", text: SHOP }, { path: "model/model.go", text: MODEL }],
    { rules },
    rules ? await hazardCollector() : undefined,
  );
  return a.population ?? {};
}

test("evidence of many values: handler, pool, loop, containers, held by value", async () => {
  const p = await levels();
  const lv = (n: string) => p[n]?.level;
  assert.equal(lv("example.com/shop.Order"), "many");
  assert.match(p["example.com/shop.Order"].evidence[0].text, /per request/);
  assert.equal(p["example.com/shop.Order"].evidence[0].line, 46);
  assert.equal(p["example.com/shop.Order"].evidence[0].file, "shop.go");
  assert.equal(lv("example.com/shop.Buf"), "many");
  assert.match(p["example.com/shop.Buf"].evidence[0].text, /sync\.Pool/);
  assert.equal(lv("example.com/shop.Tick"), "many");
  assert.match(p["example.com/shop.Tick"].evidence[0].text, /in a loop/);
  // The signature (one place), `var out []*Item` and `make([]Item, ...)`: three places.
  assert.equal(lv("example.com/shop.Item"), "many");
  assert.match(p["example.com/shop.Item"].evidence[0].text, /3 places/);
  // Held by value in Order, which has many values.
  assert.equal(lv("example.com/shop.Line"), "many");
  assert.match(p["example.com/shop.Line"].evidence[0].text, /held in `Order` \(by value\)/);
  // Another package's type built in a handler.
  assert.equal(lv("example.com/shop/model.Row"), "many");
});

test("evidence of one value: package vars, main, config-like names; few without evidence", async () => {
  const p = await levels();
  assert.equal(p["example.com/shop.Global"].level, "one");
  assert.match(p["example.com/shop.Global"].evidence[0].text, /package-level/);
  // In slices three times, but a config is one per configured item.
  assert.equal(p["example.com/shop.ServerConfig"].level, "one");
  assert.equal(p["example.com/shop.ServerConfig"].evidence[0].kind, "singleton-name");
  assert.equal(p["example.com/shop.Lonely"].level, "few");
  assert.deepEqual(p["example.com/shop.Lonely"].evidence, []);
  // A few long-lived objects passed around as []*T, map[K]*T, chan *T: not evidence of many.
  assert.equal(p["example.com/shop.Shard"].level, "few");
  // A channel element once is not enough on its own.
  assert.equal(p["example.com/shop.Queued"].level, "few");
});

test("without bodies, declarations and signatures still count", async () => {
  const p = await levels(false);
  assert.equal(p["example.com/shop.Item"].level, "few", "only the signature remains: one place");
  assert.equal(p["example.com/shop.Order"].level, "few");
  assert.equal(p["example.com/shop.Global"].level, "one");
});
