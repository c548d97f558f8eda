"""One module per device kind: a small Protocol, the real driver and a simulator."""
