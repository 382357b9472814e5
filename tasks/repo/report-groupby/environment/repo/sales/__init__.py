"""salesreport: reports over sales CSV exports."""
