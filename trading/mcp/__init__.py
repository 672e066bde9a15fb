"""The MCP server for AI agents (`manage.py mcp_server`, over stdio): the trading room's
services and selectors as MCP tools, authenticated by one of the user's API keys."""
