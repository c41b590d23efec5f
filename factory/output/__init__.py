"""The run folder: rows and their Arrow schema, shards and markers, the dataset card, shard scans."""
