"""Strongroom: a secure, multi-Region, active/active serverless transaction platform for AWS."""

__version__ = "0.1.0"
