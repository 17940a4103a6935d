// Content controller: the children of a composite component.
import { SelfmeshError } from '../core/errors.ts';

export interface ContentController<Child> {
  add(child: Child): void;
  remove(name: string): Child | undefined;
  get(name: string): Child | undefined;
  list(): Child[];
}

export class Content<Child extends { readonly name: string }> implements ContentController<Child> {
  private children = new Map<string, Child>();

  constructor(private readonly owner: string) {}

  add(child: Child): void {
    if (this.children.has(child.name))
      throw new SelfmeshError('CONFLICT', `${this.owner} already contains ${child.name}`);
    this.children.set(child.name, child);
  }

  remove(name: string): Child | undefined {
    const child = this.children.get(name);
    this.children.delete(name);
    return child;
  }

  get(name: string): Child | undefined {
    return this.children.get(name);
  }

  list(): Child[] {
    return [...this.children.values()];
  }
}
