"""Adapters: the only code that touches processes, files and the network."""
