"""Reports: daily rollups maintained with every status change."""
