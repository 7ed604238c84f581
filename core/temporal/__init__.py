"""What workflows, activities and their callers share through Temporal: payload models,
ids and search attributes, the payload codec and the one way to connect."""
