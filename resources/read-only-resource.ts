import type { ActionContext, ParamsType } from 'adminjs';
import { BaseProperty, BaseRecord, BaseResource, ForbiddenError } from 'adminjs';

/**
 * An admin screen over data that is not edited through forms (jobs, warehouse tables): subclasses say
 * how to count, find and find one; writing is refused.
 */
export abstract class ReadOnlyResource extends BaseResource {
  protected constructor(
    private readonly resourceId: string,
    private readonly databaseLabel: string,
    private readonly props: BaseProperty[],
  ) {
    super();
  }

  override id(): string {
    return this.resourceId;
  }
  override databaseName(): string {
    return this.databaseLabel;
  }
  override databaseType(): string {
    return 'postgresql';
  }
  override properties(): BaseProperty[] {
    return this.props;
  }
  override property(path: string): BaseProperty | null {
    return this.props.find((p) => p.path() === path) ?? null;
  }

  override async findMany(ids: (string | number)[], context?: ActionContext): Promise<BaseRecord[]> {
    const found = await Promise.all(ids.map((id) => this.findOne(String(id), context)));
    return found.filter((record): record is BaseRecord => record !== null);
  }

  override async create(): Promise<ParamsType> {
    throw new ForbiddenError('This screen is read-only.');
  }
  override async update(): Promise<ParamsType> {
    throw new ForbiddenError('This screen is read-only.');
  }
  override async delete(): Promise<void> {
    throw new ForbiddenError('This screen is read-only.');
  }
}
