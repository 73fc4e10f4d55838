"""What a verification concludes: `reasons` (the one Reason enum) and
`policy` (decide(...) -> Decision, a value; nothing is rewritten in place)."""
