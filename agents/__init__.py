"""Faust agents: thin movers of records between topics, tables and the pure core."""
