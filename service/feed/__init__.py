"""The provider change feed: every event of an organisation's tickets, once, in order."""
