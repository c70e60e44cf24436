"""cocflow: the case tool of a Code of Conduct response team."""

__version__ = "0.1.0"
