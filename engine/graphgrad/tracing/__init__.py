"""Tracing: every dispatched op recorded into a live graph (see DESIGN §3)."""
