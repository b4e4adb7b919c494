"""Chat frontends (OpenAI wire format): replies as cited Markdown, links back to the sources, task prompts."""
