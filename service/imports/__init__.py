"""Imports of the renovation list and its people: communities, organisations,
who serves whom, and elders, from a spreadsheet (XLSX or CSV), all or nothing."""
