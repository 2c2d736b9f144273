"""Stacks, built per Region from the configuration: keys first, then the Region's platform."""
