"""Asset modules, one folder per stage of the flow: ingest -> quality -> warehouse -> marts -> reports."""
