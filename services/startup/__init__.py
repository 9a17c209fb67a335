"""What a node checks at start, before it writes anything."""
