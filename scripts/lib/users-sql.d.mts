// Types for users-sql.mjs, so the TypeScript tests can import its builders.

export type StaffRole = "admin" | "finance" | "support" | "ops";
export const STAFF_ROLES: StaffRole[];
export const PASSWORD_RULE: string;

export interface UserRow {
  id: string;
  role: string;
  status: "active" | "blocked";
  name: string;
  email: string;
  phone: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

export interface ExistingAccount {
  id: string;
  role: string;
  status: "active" | "blocked";
  password_hash: string;
  live_sessions: number;
}

export type StaffAccountPlan =
  | { action: "create" }
  | { action: "refuse"; existing: ExistingAccount }
  | {
      action: "update";
      existing: ExistingAccount;
      takeOver: boolean;
      revokeSessions: boolean;
      unblock: boolean;
      staysBlocked: boolean;
    };

export function normalizeEmail(email: string): string;
export function isValidEmail(email: string): boolean;
export function isStrongPassword(password: string): boolean;
export function isSamePassword(password: string, passwordHash: string): Promise<boolean>;
export function sqlString(value: unknown): string;
export function newUserRow(input: {
  role: string;
  name: string;
  email: string;
  phone?: string;
  password: string;
  now?: Date;
}): Promise<UserRow>;
export function insertIfAbsentSql(rows: UserRow[]): string;
export function selectAccountSql(email: string): string;
export function planStaffAccount(
  existing: ExistingAccount | undefined,
  options?: { takeOver?: boolean; unblock?: boolean; passwordChanged?: boolean },
): StaffAccountPlan;
export function staffAccountSql(
  plan: StaffAccountPlan,
  row: UserRow,
  options?: { updateName?: boolean },
): string[];
export function selectByEmailsSql(emails: string[]): string;
export function printTable(rows: Record<string, unknown>[], columns: string[]): void;
