DROP TRIGGER audit_events_webhooks ON audit_events;
DROP FUNCTION webhook_outbox();
DROP TABLE webhook_sender;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
