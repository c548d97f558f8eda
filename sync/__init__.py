"""The terminal's link to the backend, and the wire protocol both sides speak (wire, signing)."""
