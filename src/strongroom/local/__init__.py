"""Local mode: the whole platform on one machine, with moto's server as the embedded AWS."""
