"""T+1 settlement: per merchant and business day, what it took, what it owes in fees, and what the
bank pays it; the payout file for the bank's transfer system. See docs/SETTLEMENT.md."""
