"""The 好差评 office's web dashboard: read-only pages over ClickHouse (`haochaping dashboard`)."""
