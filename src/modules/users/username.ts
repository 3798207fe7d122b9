/**
 * The account name and password rules, free of imports: the registration schema, the credential
 * pre-check of authentication and the ADMIN_USERNAME / ADMIN_PASSWORD settings all use these.
 */
export const USERNAME_LENGTH = { min: 3, max: 50 } as const
export const USERNAME_CHARACTERS = /^[A-Za-z0-9_.-]+$/
export const PASSWORD_LENGTH = { min: 8, max: 128 } as const

/** Whether some account could have this name: anything else is refused before any lookup. */
export const isPossibleUsername = (name: string) =>
  name.length >= USERNAME_LENGTH.min && name.length <= USERNAME_LENGTH.max && USERNAME_CHARACTERS.test(name)
