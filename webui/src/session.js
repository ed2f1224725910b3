// The signed-in person: subject, roles and model scopes, and what they may
// do, decided by the same table the server enforces (openapi.yaml x-roles,
// generated into access.js by build.mjs).
import { access } from "./generated/access.js";

// globMatch is Go's path.Match for the model scope patterns (* and ?).
export function globMatch(pattern, name) {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]") + "$");
  return re.test(name);
}

export class Session {
  constructor(info) {
    Object.assign(this, info);
    this.roles = info.roles || [];
    this.models = info.models || [];
  }

  hasRole(...roles) {
    return roles.some((r) => this.roles.includes(r));
  }

  canModel(model) {
    return this.models.length === 0 || this.models.some((p) => globMatch(p, model));
  }

  // why is null when the caller may call operation (on model, if given),
  // else the reason the API would refuse, in words.
  why(operation, model) {
    const roles = access[operation];
    if (roles === undefined) return `unknown operation ${operation}`;
    if (roles !== null && !this.hasRole(...roles)) {
      return `needs the role ${roles.join(" or ")}; you have ${this.roles.join(", ") || "no role"}`;
    }
    if (model && !this.canModel(model)) {
      return `your session is limited to the models ${this.models.join(", ")}`;
    }
    return null;
  }

  can(operation, model) {
    return this.why(operation, model) === null;
  }
}
