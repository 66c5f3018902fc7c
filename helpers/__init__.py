"""The course library: data (``helpers.data``), figures (``helpers.plots``),
environment (``helpers.env``) and exercise checks (``helpers.exercises``)."""

__version__ = "0.1.0"
