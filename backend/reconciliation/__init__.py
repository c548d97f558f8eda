"""Reconciliation: our ledger against the payment channel's settlement file, and against what
each terminal says it took in a shift. See docs/SETTLEMENT.md."""
