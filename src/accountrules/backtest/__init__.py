"""Backtest: had a policy run on date T, how well would its decisions have matched what customers did after T."""
