"""Development tools: fake providers, the chaos worker; not used in production paths."""
