"""HTTP, chat and MCP front ends over the core: a thin layer mapping domain errors to statuses."""
