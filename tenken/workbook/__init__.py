"""The request form: workbooks (and CSV) written for departments and read back when they return."""
