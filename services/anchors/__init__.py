"""Anchors of the hash chains: signed checkpoints of a case's chain head, kept by both
agencies, what `homeward audit verify` checks a store against, the comparison with the
partner's chain, and signed exports."""
