-- The audit trail as Partner Center's audit records (GET /v1/auditrecords): the partner whose
-- resource a record is about (it sees the record; NULL: only the operator does), the customer,
-- who acted (a user's sign-in name, an application), Partner Center's resource and operation
-- types, and the resource before and after the change (JSON).
ALTER TABLE audit_events ADD COLUMN partner_tenant_id TEXT;
ALTER TABLE audit_events ADD COLUMN customer_id TEXT;
ALTER TABLE audit_events ADD COLUMN customer_name TEXT;
ALTER TABLE audit_events ADD COLUMN resource_type TEXT;
ALTER TABLE audit_events ADD COLUMN operation_type TEXT;
ALTER TABLE audit_events ADD COLUMN application_id TEXT;
ALTER TABLE audit_events ADD COLUMN user_principal_name TEXT;
ALTER TABLE audit_events ADD COLUMN old_value TEXT;
ALTER TABLE audit_events ADD COLUMN new_value TEXT;

-- A partner's records by date (GET /v1/auditrecords), and everyone's (the operator's view).
CREATE INDEX audit_events_by_partner ON audit_events (partner_tenant_id, at, seq)
    WHERE partner_tenant_id IS NOT NULL;
CREATE INDEX audit_events_by_time ON audit_events (at, seq);

-- Records written before this migration: customers' creations and their qualifications'
-- submissions and decisions become their partners' records.
UPDATE audit_events SET
    partner_tenant_id = (SELECT c.partner_tenant_id FROM customers c WHERE c.id = audit_events.subject_id),
    customer_id = subject_id,
    customer_name = (SELECT c.company_name FROM customers c WHERE c.id = audit_events.subject_id),
    resource_type = 'customer',
    operation_type = 'add_customer',
    application_id = CASE WHEN actor LIKE 'app:%' THEN substr(actor, 5) END,
    user_principal_name = CASE WHEN actor NOT LIKE 'app:%' THEN actor END
WHERE action = 'customer.created';
UPDATE audit_events SET
    partner_tenant_id = (SELECT v.partner_tenant_id FROM vetting_requests v WHERE v.id = audit_events.subject_id),
    customer_id = (SELECT v.customer_id FROM vetting_requests v WHERE v.id = audit_events.subject_id),
    customer_name = (SELECT c.company_name FROM vetting_requests v JOIN customers c ON c.id = v.customer_id
                     WHERE v.id = audit_events.subject_id),
    resource_type = 'customer',
    operation_type = CASE action WHEN 'vetting.submitted' THEN 'update_customer_qualification'
                                 ELSE 'decide_customer_qualification' END,
    -- A decision names the vetting service, not the operator's reviewer or rule.
    application_id = CASE WHEN action = 'vetting.decided' THEN 'VettingService'
                          WHEN actor LIKE 'app:%' THEN substr(actor, 5) END,
    user_principal_name = CASE WHEN action = 'vetting.submitted' AND actor NOT LIKE 'app:%' THEN actor END
WHERE action IN ('vetting.submitted', 'vetting.decided');
