"""The pure conversation engine: flows in, (state, events) out; no clock, database or network."""
