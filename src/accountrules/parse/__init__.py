"""Reading policy sources: YAML with source locations, and policy expressions."""
