-- A customer's requests are found through vetting_requests_attempt (customer_id, qualification,
-- attempt), whose leading column is the customer: the second index on (customer_id, seq) only
-- cost every submission one more randomly placed page to write. Histories are a few rows, so
-- sorting them by seq costs nothing measurable.
DROP INDEX vetting_requests_by_customer;
