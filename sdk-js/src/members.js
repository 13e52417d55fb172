// Presence channel membership: who is here, keyed by user_id, plus which member is us.

export class Members {
  constructor() {
    this.reset();
  }

  /** Returns {id, info} for a user id, or null when that user is not a member. */
  get(id) {
    return Object.prototype.hasOwnProperty.call(this.members, id) ? { id, info: this.members[id] } : null;
  }

  /** Calls callback({id, info}) for every member. */
  each(callback) {
    for (const id of Object.keys(this.members)) callback(this.get(id));
  }

  /** Forgets everyone; used when the subscription is lost. */
  reset() {
    this.members = Object.create(null);
    this.count = 0;
    this.myID = null;
    this.me = null;
  }

  setMyID(id) {
    this.myID = String(id);
  }

  /** Loads the `presence` object of subscription_succeeded ({count, ids, hash}). */
  onSubscription(presence) {
    this.members = Object.assign(Object.create(null), (presence && presence.hash) || {});
    this.count = Object.keys(this.members).length;
    this.me = this.get(this.myID);
  }

  /** Adds or updates a member; returns {id, info} and whether the member is new. */
  addMember({ user_id, user_info }) {
    const id = String(user_id);
    const added = !this.get(id);
    if (added) this.count++;
    this.members[id] = user_info === undefined ? null : user_info;
    return { member: this.get(id), added };
  }

  /** Removes a member; returns their {id, info}, or null when they were not here. */
  removeMember({ user_id }) {
    const member = this.get(String(user_id));
    if (!member) return null;
    delete this.members[member.id];
    this.count--;
    return member;
  }
}
