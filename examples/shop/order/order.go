// Package order is part of memcheck's example module: its Order wastes 16 bytes to padding.
package order

import (
	"sync"

	"example.com/shop/customer"
)

// Order is laid out badly on purpose: every bool sits before an 8-byte field.
type Order struct {
	Paid     bool                   // 1 byte, then 7 of padding
	ID       int64                  // order number
	Shipped  bool                   // 1 byte, then 7 of padding
	Total    int64                  `json:"total"`
	Customer *customer.Customer     // the chain Order -> *Customer -> *Address
	Items    []Item                 `json:"items"`
	Meta     map[string]interface{} // boxed values: 16 bytes a slot
	mu       sync.Mutex
}

// Item is already tight.
type Item struct {
	SKU   string
	Price int64
	Qty   int32
	Gift  bool
}
