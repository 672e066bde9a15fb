"""The OKX v5-compatible API: a translation layer at the edge. OKX's field names and error
codes appear here and nowhere below `trading/`: requests are turned into the project's
own commands and reads, and answers back into OKX's envelope, fields and codes."""
