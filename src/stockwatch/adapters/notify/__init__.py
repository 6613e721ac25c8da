"""Delivery channels: one module per provider, configured by channel URLs."""
