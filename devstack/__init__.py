"""The embedded development stack (PostgreSQL 18 and the Temporal dev server) that
`booking dev`, the tests and the bench start; production processes never import it."""
