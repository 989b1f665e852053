-- Efí sandbox state. Money is integer centavos here and an Efí string ("12.34") on the wire.
-- Timestamps are ISO-8601 UTC with milliseconds, as Efí prints them.

-- Access tokens of both APIs: Pix (/oauth/token) and Cobranças (/v1/authorize).
CREATE TABLE tokens (
  token TEXT PRIMARY KEY,
  api TEXT NOT NULL CHECK (api IN ('pix', 'cobrancas')),
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

-- Payload locations: loc.id is an incrementing integer, token the last path segment.
CREATE TABLE locations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token TEXT NOT NULL UNIQUE,
  tipo_cob TEXT NOT NULL CHECK (tipo_cob IN ('cob', 'cobv')),
  location TEXT NOT NULL,
  txid TEXT UNIQUE,
  criacao TEXT NOT NULL
);

-- Immediate charges (cob). status describes the record: expiry does not change it.
CREATE TABLE cobs (
  txid TEXT PRIMARY KEY,
  revisao INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (
    status IN ('ATIVA', 'CONCLUIDA', 'REMOVIDA_PELO_USUARIO_RECEBEDOR', 'REMOVIDA_PELO_PSP')
  ),
  criacao TEXT NOT NULL,
  expiracao INTEGER NOT NULL CHECK (expiracao >= 1),
  valor_cents INTEGER NOT NULL CHECK (valor_cents > 0),
  chave TEXT NOT NULL,
  devedor TEXT,
  solicitacao_pagador TEXT,
  info_adicionais TEXT,
  loc_id INTEGER NOT NULL REFERENCES locations (id),
  updated_at TEXT NOT NULL
);

-- Received Pix. One payment per cob, guarded here and not only in code.
CREATE TABLE pix_received (
  e2e_id TEXT PRIMARY KEY,
  txid TEXT,
  chave TEXT NOT NULL,
  valor_cents INTEGER NOT NULL CHECK (valor_cents > 0),
  horario TEXT NOT NULL,
  info_pagador TEXT
);
CREATE UNIQUE INDEX pix_received_txid ON pix_received (txid) WHERE txid IS NOT NULL;

-- Refunds (devoluções) of received Pix. The id is chosen by the client, unique per Pix.
CREATE TABLE refunds (
  e2e_id TEXT NOT NULL REFERENCES pix_received (e2e_id),
  id TEXT NOT NULL,
  rtr_id TEXT NOT NULL UNIQUE,
  valor_cents INTEGER NOT NULL CHECK (valor_cents > 0),
  status TEXT NOT NULL CHECK (status IN ('EM_PROCESSAMENTO', 'DEVOLVIDO', 'NAO_REALIZADO')),
  motivo TEXT,
  solicitacao TEXT NOT NULL,
  liquidacao TEXT,
  PRIMARY KEY (e2e_id, id)
);

-- Pix sends (payouts), keyed by the client's idEnvio.
CREATE TABLE pix_sends (
  id_envio TEXT PRIMARY KEY,
  e2e_id TEXT NOT NULL UNIQUE,
  valor_cents INTEGER NOT NULL CHECK (valor_cents > 0),
  pagador_chave TEXT NOT NULL,
  info_pagador TEXT,
  favorecido TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('EM_PROCESSAMENTO', 'REALIZADO', 'NAO_REALIZADO')),
  solicitacao TEXT NOT NULL,
  liquidacao TEXT,
  erro TEXT
);

-- Refunds received on a sent Pix (the homologação R$4.00 and R$5.00 rules).
CREATE TABLE send_refunds (
  e2e_id TEXT NOT NULL REFERENCES pix_sends (e2e_id),
  id TEXT NOT NULL,
  rtr_id TEXT NOT NULL UNIQUE,
  valor_cents INTEGER NOT NULL,
  horario TEXT NOT NULL,
  PRIMARY KEY (e2e_id, id)
);

-- One webhook URL per Pix key.
CREATE TABLE webhooks (
  chave TEXT PRIMARY KEY,
  webhook_url TEXT NOT NULL,
  criacao TEXT NOT NULL
);

-- Every notification the sandbox sent or meant to send, and each attempt at it.
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  e2e_ids TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
  attempt INTEGER NOT NULL,
  at TEXT NOT NULL,
  http_status INTEGER,
  error TEXT,
  PRIMARY KEY (delivery_id, attempt)
);

-- Card charges of the Cobranças API (one-step), with their notification token and history.
CREATE TABLE card_charges (
  charge_id INTEGER PRIMARY KEY AUTOINCREMENT,
  status TEXT NOT NULL,
  total INTEGER NOT NULL CHECK (total > 0),
  installments INTEGER NOT NULL,
  payment_token TEXT NOT NULL,
  items TEXT NOT NULL,
  customer TEXT,
  custom_id TEXT,
  notification_url TEXT,
  notification_token TEXT NOT NULL UNIQUE,
  refusal TEXT,
  refunded_cents INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  paid_at TEXT
);

CREATE TABLE card_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  charge_id INTEGER NOT NULL REFERENCES card_charges (charge_id),
  status TEXT NOT NULL,
  previous TEXT,
  message TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- One-shot switches set through the control API (fail the next Pix send, refuse the next card).
CREATE TABLE sandbox_flags (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
