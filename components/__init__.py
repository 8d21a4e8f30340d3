"""The app's tabs: one module per tab, each with `build()` (layout + wiring) and `CSS`."""
