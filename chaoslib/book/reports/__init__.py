"""Each chapter's numbers and verdicts, in one module per chapter (figures only draw).

A report module turns a chapter's labelled results (``xarray`` datasets) into the numbers glued into its prose
and the records of its reproduction targets (:func:`chaoslib.book.reports.verdicts.target_record`). The book's
results page reads those records.
"""
