"""Operations: the invariant audit and the demo org."""
