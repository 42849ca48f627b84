"""Answer key of Yale AMTH/CPSC 663b Exercise II (``cpsc663-ex2``); see ``assignment.toml``."""
