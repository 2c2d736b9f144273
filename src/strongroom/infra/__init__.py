"""Infrastructure as code: AWS CDK v2 constructs and stacks for every configured Region.

Imports ``strongroom.config`` and ``strongroom.runtime`` (for schemas and the API's operations); the
runtime never imports this package. Synthesis is offline: explicit availability zones, no context
lookups, no Docker.
"""
