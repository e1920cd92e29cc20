"""Official reports (API.md "Reports"): figures read through the read models' read API, laid
out in the Vietnamese administrative form as DOCX, XLSX or PDF."""
